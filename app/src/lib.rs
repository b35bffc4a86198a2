//! brickdesk's shared vocabulary: the types the server sends and the browser reads, the rules
//! that decide what input is valid, and the paths both sides call. No I/O lives here, so the
//! crate builds for the server and for wasm32 alike, and drift between them is a compile error.

pub mod account;
pub mod dashboard;
pub mod documents;
pub mod error;
pub mod events;
pub mod fulfilment;
pub mod inventory;
pub mod jobs;
pub mod lot_changes;
pub mod marketplace;
pub mod messages;
pub mod minifigs;
pub mod money;
pub mod orders;
pub mod routes;
pub mod stock_sync;
pub mod validate;

pub use account::{
    AccountUpdate, LoginRequest, NewAccount, PasswordChange, PasswordReset, ProfileUpdate,
    SessionInfo, SetupRequest, SetupStatus, User, UserId, VersionInfo,
};
pub use dashboard::{
    BackupHealth, Dashboard, Day, Hit, HitKind, JobHealth, MinifigStats, NeedsAction, Period,
    Sales, Schedule, SearchResults, TopItem,
};
pub use documents::{DocumentKind, DocumentTemplate, Paper};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use fulfilment::{
    FulfilmentSettings, NewPickList, OrderFlow, OrderRef, PickLine, PickList, PickListId,
    PickListState, PickListSummary, PickShare, PickTick, PickTicked, ShipOrder, ShipRequest,
    ShortLine, TickRequest,
};
pub use inventory::{
    BrickLinkLot, BrickOwlLot, ImportDiff, LinkRequest, Lot, LotId, LotItem, LotList,
    LotQueryParams, LotSort, TierPrice,
};
pub use jobs::{
    AttemptView, JobId, JobList, JobState, JobView, MarketplaceLimits, PartsView, ProgressView,
    QueueCounts, QueueName, QueuesView,
};
pub use lot_changes::{
    AtZero, BulkAnswer, BulkOperation, BulkPreview, BulkRequest, ChangeId, ChangeList, ChangeQuery,
    EditQueued, LotChange, LotEdit, LotValues, PendingChange, PreviewLine, SideChange, SideState,
    UndoRequest,
};
pub use marketplace::{
    ApiUsage, BreakerState, BrickLinkKeys, BrickOwlKeys, ConnectionStatus, ConnectionView,
    ItemType, Marketplace,
};
pub use messages::{
    Conversation, ConversationAbilities, ConversationCounts, Feedback, FeedbackReply,
    LeaveFeedback, OrderMessage, Rating,
};
pub use minifigs::{
    CatalogMinifig, CatalogPart, Color, Condition, FetchState, ListId, ListSummary, ListUpdate,
    MinifigId, MinifigList, MinifigPart, MinifigQueued, MinifigUpdate, NewList, NewMinifig,
    PartUpdate, PartialMinifig, Prices, Totals,
};
pub use money::Money;
pub use orders::{
    ActivityEntry, ActivityKind, LineLot, OrderDetail, OrderLine, OrderList, OrderQuery, OrderSort,
    OrderStatus, OrderSummary, OrderTax, Queued, Shipment, StatusChange, SyncRequest,
};
pub use stock_sync::{
    CancelledOrder, ChangeCause, Conflict, HeldReconcile, HeldSale, Oversold, ReconcileLine,
    ReconcileRequest, ReconcileSummary, Resolution, RestockRequest, SaleRef, StockSyncSettings,
    StockSyncState,
};
