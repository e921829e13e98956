//! cordon-control: placeholder, being written.
