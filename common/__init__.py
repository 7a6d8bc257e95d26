"""What every layer of the gateway shares: the errors a user can act on."""
