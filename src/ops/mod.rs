//! The slow paths behind the hooks: what happens once a path is a set path
//! or a descriptor is one the fd table marks.

pub mod close;
pub mod open;
pub mod set_path;
pub mod stat;
