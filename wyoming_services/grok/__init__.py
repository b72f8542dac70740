"""Grok: the language engine (xAI's Responses API, or Chat Completions elsewhere)."""

from .early import Asked, EarlyAnswer, EarlyAnswers
from .engine import XAI_BASE_URL, Grok, GrokCounters
from .tools import HaTools, Relay, Toolbox, ToolCall, ToolDefinition, ToolError
from .wire import GrokFailure

__all__ = [
    "XAI_BASE_URL",
    "Asked",
    "EarlyAnswer",
    "EarlyAnswers",
    "Grok",
    "GrokCounters",
    "GrokFailure",
    "HaTools",
    "Relay",
    "ToolCall",
    "ToolDefinition",
    "ToolError",
    "Toolbox",
]
