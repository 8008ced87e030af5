// SPDX-License-Identifier: MIT
pragma solidity =0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ITestUSDC} from "./interfaces/ITestUSDC.sol";

/// @title TestUSDC
/// @notice Local-chain USDC: 6 decimals like the real token, minted by the owner. Never deploy to mainnet.
contract TestUSDC is ITestUSDC, ERC20, Ownable {
    /// @param initialOwner account allowed to mint
    constructor(address initialOwner) ERC20("Test USD Coin", "USDC") Ownable(initialOwner) {}

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @inheritdoc ITestUSDC
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
