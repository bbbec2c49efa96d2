//! Progressive rollout strategies. Each one is a set of pure decisions (who is routed
//! where, is the canary healthy, what happens next); the shell applies them.

pub mod blue_green;
pub mod canary;
pub mod cluster;
pub mod switch_back;
