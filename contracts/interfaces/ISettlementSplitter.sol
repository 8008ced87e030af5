// SPDX-License-Identifier: MIT
pragma solidity =0.8.30;

/// @title ISettlementSplitter
/// @notice Settles one purchase atomically: pays every collaborator from the treasury's USDC and
///         mints an ERC-721 receipt to the buyer, at most once per purchaseId.
interface ISettlementSplitter {
    /// @notice The purchase was settled before; settlement happens once per purchaseId.
    error Settlement__AlreadySettled(bytes32 purchaseId);
    /// @notice A settlement needs at least one recipient.
    error Settlement__NoRecipients(bytes32 purchaseId);
    /// @notice recipients and amounts must have the same length.
    error Settlement__LengthMismatch(uint256 recipients, uint256 amounts);
    /// @notice The buyer cannot be the zero address.
    error Settlement__InvalidBuyer(address buyer);
    /// @notice A recipient cannot be the zero address.
    error Settlement__InvalidRecipient(uint256 index, address recipient);
    /// @notice The treasury cannot be the zero address.
    error Settlement__InvalidTreasury(address treasury);

    /// @notice Emitted once per purchase, right after it is marked settled.
    /// @param purchaseId keccak256 of the off-chain purchase id
    /// @param buyer receiver of the receipt NFT
    /// @param tokenId id of the receipt NFT
    /// @param total sum of all payouts, in USDC base units
    event PurchaseSettled(bytes32 indexed purchaseId, address indexed buyer, uint256 tokenId, uint256 total);

    /// @notice Emitted when the admin points the splitter at a different treasury.
    event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury);

    /// @notice Pays `amounts[i]` USDC from the treasury to `recipients[i]` and mints a receipt to `buyer`.
    /// @dev Reverts with Settlement__AlreadySettled if `purchaseId` was seen before. Needs SETTLER_ROLE
    ///      and an unpaused contract; the treasury must have approved this contract for the total.
    /// @param purchaseId keccak256 of the off-chain purchase id
    /// @param buyer receiver of the receipt NFT
    /// @param tokenURI metadata URI of the receipt NFT
    /// @param recipients collaborator wallets
    /// @param amounts payout per collaborator, in USDC base units
    /// @return tokenId id of the minted receipt
    function settle(
        bytes32 purchaseId,
        address buyer,
        string calldata tokenURI,
        address[] calldata recipients,
        uint256[] calldata amounts
    ) external returns (uint256 tokenId);

    /// @notice Whether `purchaseId` has been settled.
    /// @param purchaseId keccak256 of the off-chain purchase id
    /// @return true once settled
    function settled(bytes32 purchaseId) external view returns (bool);

    /// @notice The receipt token id of a settled purchase, or 0 when it is not settled.
    /// @param purchaseId keccak256 of the off-chain purchase id
    /// @return tokenId receipt token id (ids start at 1)
    function tokenIdOf(bytes32 purchaseId) external view returns (uint256 tokenId);

    /// @notice Where a settlement landed, so clients can find its PurchaseSettled log in one block.
    /// @param purchaseId keccak256 of the off-chain purchase id
    /// @return tokenId receipt token id, or 0 when not settled
    /// @return blockNumber block of the settlement, or 0 when not settled
    function settlementOf(bytes32 purchaseId) external view returns (uint256 tokenId, uint256 blockNumber);

    /// @notice The USDC token the splitter pays with.
    /// @return the USDC token address
    function usdc() external view returns (address);

    /// @notice The account whose USDC allowance funds every settlement.
    /// @return the treasury address
    function treasury() external view returns (address);
}
