"""Parts of the Explain page: where examples and maps come from, live computation, panels."""
