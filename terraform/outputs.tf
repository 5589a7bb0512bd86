# What a caller needs after apply: where to push the image, what to watch,
# and the names the worker settings refer to.

output "state_machine_arn" {
  description = "ARN of the engine state machine."
  value       = aws_sfn_state_machine.engine.arn
}

output "activity_arns" {
  description = "Activity ARNs by activity name."
  value       = { for k, a in aws_sfn_activity.this : k => a.id }
}

output "activity_arn_prefix" {
  description = "HEALER_ACTIVITY_ARN_PREFIX of the workers."
  value       = local.activity_arn_prefix
}

output "ecr_repository_url" {
  description = "Push the worker image here (tag = var.image_tag)."
  value       = aws_ecr_repository.worker.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the workers."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_name" {
  description = "ECS service of the workers."
  value       = aws_ecs_service.worker.name
}

output "worker_log_group" {
  description = "CloudWatch log group of the workers (JSON lines and EMF metrics)."
  value       = aws_cloudwatch_log_group.worker.name
}

output "task_role_arn" {
  description = "IAM role of the worker tasks."
  value       = aws_iam_role.task.arn
}

output "breaker_table_name" {
  description = "DynamoDB table of the circuit breaker."
  value       = aws_dynamodb_table.breaker.name
}

output "audit_table_name" {
  description = "DynamoDB table of the audit trail."
  value       = aws_dynamodb_table.audit.name
}

output "kill_switch_parameter_name" {
  description = "Set it to \"false\" to stop all remediation."
  value       = aws_ssm_parameter.kill_switch.name
}

output "disk_cleanup_document_name" {
  description = "SSM command document the disk remediation runs."
  value       = aws_ssm_document.disk_cleanup.name
}

output "event_rule_arns" {
  description = "EventBridge rules that start the engine, by kind (disk, ssh, cert)."
  value       = { for k, r in aws_cloudwatch_event_rule.engine : k => r.arn }
}

output "operator_policy_json" {
  description = "IAM policy (JSON) for the people or automation running `healer status|audit|replay|disable|enable`; attach it to their role."
  value       = data.aws_iam_policy_document.operator.json
}

output "dashboard_url" {
  description = "CloudWatch dashboard of the engine (terraform/dashboard.tf): backlog, latency, tasks, remediations, escalations, breaker trips, workers."
  value       = local.dashboard_url
}
