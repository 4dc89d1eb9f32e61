"""What every layer uses: settings, ids and times, domain errors, observability, AWS
clients."""
