"""Tasks for people ("дела"): calls, meetings and reminders for a contact's owner."""
