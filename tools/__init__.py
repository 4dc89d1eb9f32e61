"""Tools of the repository that are neither Lambda code nor the local stack."""
