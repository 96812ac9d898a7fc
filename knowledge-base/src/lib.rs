//! # airbridge-kb
//!
//! Will own the policy knowledge base (知识库): entries, import/export and
//! Chinese search that tolerates speech-recognition errors. Empty until the
//! knowledge-base issue lands; the crate exists so the workspace has its final shape.
