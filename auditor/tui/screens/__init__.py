"""The interactive audit's screens: the fleet (main), help, export and host-key review."""
