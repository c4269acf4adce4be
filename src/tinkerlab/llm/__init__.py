"""Chat models behind one interface: local (embedded SmolLM2-135M-Instruct), OpenAI-compatible, Anthropic, scripted.

    from tinkerlab.llm import load_chat_model, Message
    model = load_chat_model("local")
    reply = model.complete([Message.user("Name three colours.")], max_tokens=30)

Messages carry text and PIL images; every backend shares the response cache (SQLite, temperature 0), the JSONL
transcript, token counting and bounded retries. Heavy libraries (torch, transformers, the SDKs) load only when a
backend that needs them is built.
"""

from tinkerlab.core.errors import LLMConnectionError, LLMError
from tinkerlab.llm.base import ChatModel
from tinkerlab.llm.cache import ResponseCache
from tinkerlab.llm.loader import VALID_SPECS, load_chat_model
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.scripted import ScriptedChatModel

__all__ = [
    "ChatModel",
    "LLMConnectionError",
    "LLMError",
    "Message",
    "Reply",
    "ResponseCache",
    "ScriptedChatModel",
    "Usage",
    "VALID_SPECS",
    "load_chat_model",
]
