// SPDX-License-Identifier: MIT
pragma solidity =0.8.30;

/// @title ITestUSDC
/// @notice Minting entry point of the 6-decimal USDC stand-in used on local chains.
interface ITestUSDC {
    /// @notice Mints `amount` base units to `to`. Owner only.
    /// @param to receiver of the new tokens
    /// @param amount amount in base units (6 decimals)
    function mint(address to, uint256 amount) external;
}
