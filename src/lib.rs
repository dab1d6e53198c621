pub mod api;
pub mod checks;
pub mod collect;
pub mod facts;
pub mod throttle;
