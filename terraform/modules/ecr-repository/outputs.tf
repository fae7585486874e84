output "repository_arn" {
  description = "The image repository."
  value       = aws_ecr_repository.this.arn
}

output "repository_url" {
  description = "Where CI pushes images."
  value       = aws_ecr_repository.this.repository_url
}
