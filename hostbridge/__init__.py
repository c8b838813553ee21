"""Host bridge: cashier (ECR) software drives the terminal over serial or TCP."""
