"""providers/bedrock"""
