# The AWS Config managed rule restricted-ssh (INCOMING_SSH_DISABLED): flags
# security groups that allow SSH from anywhere. Its NON_COMPLIANT results
# start the engine through the "ssh" EventBridge rule (events.tf).
#
# AWS Config must be recording AWS::EC2::SecurityGroup in the region (a
# configuration recorder and delivery channel); this module does not create
# them because an account has at most one. With create_config_rule = false
# the module listens to an existing rule named var.config_rule_name (for
# example one from a conformance pack).

resource "aws_config_config_rule" "restricted_ssh" {
  count = var.create_config_rule ? 1 : 0

  name        = var.config_rule_name
  description = "Security groups must not allow incoming SSH (TCP 22) from 0.0.0.0/0 or ::/0. Remediated by healer."

  source {
    owner             = "AWS"
    source_identifier = "INCOMING_SSH_DISABLED"
  }

  scope {
    compliance_resource_types = ["AWS::EC2::SecurityGroup"]
  }

  tags = local.tags
}
