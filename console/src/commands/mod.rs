//! The `airbridge` subcommands, one module each; the window is in
//! [`crate::app`] and [`crate::views`], the composition root in
//! [`crate::station`].

pub mod feeds;
pub mod guide;
pub mod kb;
pub mod media;
pub mod model;
pub mod moderation;
pub mod seat;
pub mod serve;
pub mod stt;
pub mod studio;
pub mod tickets;
