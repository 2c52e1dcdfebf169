"""Import and export: files from Excel, 1C and Google Sheets in; CSV and XLSX out."""
