//! String functions with FreeMarker's exact semantics: escapes, case mapping, UTF-16 indexes.
