"""Grok: the language engine (xAI's Responses API, or Chat Completions elsewhere)."""

from .engine import XAI_BASE_URL, Grok, GrokCounters
from .tools import Toolbox, ToolCall, ToolDefinition, ToolError
from .wire import GrokFailure

__all__ = [
    "XAI_BASE_URL",
    "Grok",
    "GrokCounters",
    "GrokFailure",
    "ToolCall",
    "ToolDefinition",
    "ToolError",
    "Toolbox",
]
