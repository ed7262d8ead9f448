"""What people read: case views, the reasons report and its digest, health and the configuration check."""
