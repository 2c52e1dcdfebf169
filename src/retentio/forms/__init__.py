"""Web forms a shop embeds in its site: fields mapped to contacts, consent with its text."""
