//! Harness of the end-to-end tests: free ports, temp dirs, real processes.
