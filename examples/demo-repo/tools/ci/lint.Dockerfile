# Not a production image: a lint container for CI.
FROM hadolint/hadolint:latest
