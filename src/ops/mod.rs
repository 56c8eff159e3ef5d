//! The slow paths behind the hooks: what happens once a path is a set path
//! or a descriptor is one the fd table marks.

pub mod close;
pub mod look_path;
pub mod open;
pub mod open_path;
pub mod path_info;
pub mod prefix_dir;
pub mod set_path;
pub mod stat;
pub mod syscall;
pub mod through;
pub mod xattr;
