"""Files that run inside the sandbox process (the bootstrap and a matplotlib backend); nothing here is imported
by the parent. They use only the standard library at start-up so a sandbox starts in a few tens of milliseconds."""
