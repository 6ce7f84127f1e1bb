//! Date-time values and their formatting and parsing as FreeMarker does it (en_US, UTC).
