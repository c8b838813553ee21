"""The `vafa` console command."""
