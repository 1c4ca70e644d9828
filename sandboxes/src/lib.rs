//! The sandbox boundary: runs untrusted submission images in hardened Docker containers.
