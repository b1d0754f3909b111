//! `tsunagi witness serve`: a small C2SP `tlog-witness` that any organ (a contracted
//! corporation, the council of social welfare, the prefecture) runs beside the ward's hub.
//!
//! It knows a list of logs (origin and the log's verifier keys, [`config`]), keeps the latest
//! checkpoint it cosigned for each durably in an SQLite file of its own ([`state`]), and answers
//! `POST /add-checkpoint` ([`protocol`], [`server`]): it cosigns (C2SP `tlog-cosignature`,
//! `cosignature/v1`) a checkpoint only when the log's key signed it and a consistency proof shows
//! that it extends the tree it cosigned last. A log that rewrites its history — even one that
//! re-signs the rewritten tree with its own key — gets no cosignature, and the refused,
//! correctly signed checkpoint is kept as evidence.

pub mod config;
pub mod protocol;
pub mod server;
pub mod state;
