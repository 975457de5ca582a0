"""Real-component test infrastructure: loopback registries, a token issuer, a fault proxy, image builders."""
