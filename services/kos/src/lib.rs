//! KOS simulator: the operator's back office behind the MVNO Product-Change Service, as its
//! own gRPC service (`kos.v1.KosService`, internal: no REST routes). Seeded deterministically
//! with customers, lines and products; performs product changes (immediately, or accepted and
//! completed later for products that need provisioning) and keeps its own records; injects
//! faults (error rate, latency, hard down) set by configuration or the SetFaults RPC.

mod api;
mod faults;
mod orders;
mod seed;
mod store;

pub use api::KosApi;
pub use faults::{FaultSettings, Faults};
pub use orders::{KosError, KosService, KosSettings};
pub use seed::{OPERATORS, PRODUCTS, SEED};
pub use store::Migrator;
