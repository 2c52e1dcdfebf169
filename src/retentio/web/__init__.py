"""The page shell: layout, templating, sessions, CSRF, flash messages, i18n and error pages."""
