// SPDX-License-Identifier: MIT
pragma solidity =0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ISettlementSplitter} from "./interfaces/ISettlementSplitter.sol";

/// @title SettlementSplitter
/// @notice One transaction per purchase: every collaborator is paid from the treasury's USDC
///         allowance and the buyer receives an ERC-721 receipt. Either all of it happens or none.
/// @dev The splitter is its own receipt collection, which keeps deployment to one contract.
contract SettlementSplitter is ISettlementSplitter, ERC721URIStorage, AccessControl, Pausable {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to call settle.
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    /// @notice Role allowed to pause and unpause settlement.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev tokenId and blockNumber share one slot; tokenId 0 means "not settled".
    struct Settlement {
        uint192 tokenId;
        uint64 blockNumber;
    }

    IERC20 private immutable _usdc;
    address private _treasury;
    uint256 private _lastTokenId;
    mapping(bytes32 purchaseId => Settlement) private _settlements;

    /// @param admin receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE
    /// @param usdc_ the USDC token to pay with
    /// @param treasury_ the account whose allowance funds settlements
    constructor(address admin, IERC20 usdc_, address treasury_) ERC721("Settlement Receipt", "RECEIPT") {
        if (treasury_ == address(0)) revert Settlement__InvalidTreasury(treasury_);
        _usdc = usdc_;
        _treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /// @inheritdoc ISettlementSplitter
    function settle(
        bytes32 purchaseId,
        address buyer,
        string calldata tokenURI_,
        address[] calldata recipients,
        uint256[] calldata amounts
    ) external onlyRole(SETTLER_ROLE) whenNotPaused returns (uint256 tokenId) {
        if (_settlements[purchaseId].tokenId != 0) revert Settlement__AlreadySettled(purchaseId);
        uint256 count = recipients.length;
        if (count == 0) revert Settlement__NoRecipients(purchaseId);
        if (count != amounts.length) revert Settlement__LengthMismatch(count, amounts.length);
        if (buyer == address(0)) revert Settlement__InvalidBuyer(buyer);

        uint256 total;
        for (uint256 i; i < count; ++i) {
            if (recipients[i] == address(0)) revert Settlement__InvalidRecipient(i, recipients[i]);
            total += amounts[i];
        }

        tokenId = ++_lastTokenId;
        _settlements[purchaseId] = Settlement({tokenId: uint192(tokenId), blockNumber: uint64(block.number)});
        emit PurchaseSettled(purchaseId, buyer, tokenId, total);

        address from = _treasury;
        for (uint256 i; i < count; ++i) {
            if (amounts[i] != 0) _usdc.safeTransferFrom(from, recipients[i], amounts[i]);
        }
        // _mint, not _safeMint: a buyer contract must not be able to re-enter or block settlement.
        _mint(buyer, tokenId);
        _setTokenURI(tokenId, tokenURI_);
    }

    /// @notice Stops settle until unpause. PAUSER_ROLE only.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes settle. PAUSER_ROLE only.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @notice Points settlements at a new treasury (which must approve this contract). Admin only.
    /// @param newTreasury the new funding account
    function setTreasury(address newTreasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newTreasury == address(0)) revert Settlement__InvalidTreasury(newTreasury);
        address previous = _treasury;
        _treasury = newTreasury;
        emit TreasuryChanged(previous, newTreasury);
    }

    /// @inheritdoc ISettlementSplitter
    function settled(bytes32 purchaseId) external view returns (bool) {
        return _settlements[purchaseId].tokenId != 0;
    }

    /// @inheritdoc ISettlementSplitter
    function tokenIdOf(bytes32 purchaseId) external view returns (uint256) {
        return _settlements[purchaseId].tokenId;
    }

    /// @inheritdoc ISettlementSplitter
    function settlementOf(bytes32 purchaseId) external view returns (uint256 tokenId, uint256 blockNumber) {
        Settlement memory s = _settlements[purchaseId];
        return (s.tokenId, s.blockNumber);
    }

    /// @inheritdoc ISettlementSplitter
    function usdc() external view returns (address) {
        return address(_usdc);
    }

    /// @inheritdoc ISettlementSplitter
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc ERC721URIStorage
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721URIStorage, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
