//! Faults, restarts, churn, soak and security tests across the whole Sealcam stack.
