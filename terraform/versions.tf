# Versions this module is written and checked against.
terraform {
  # optional() object attributes (1.3), lifecycle preconditions and check
  # blocks (1.5).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.30.0, < 7.0.0"
    }
  }
}
