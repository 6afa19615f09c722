"""Operations: health and metrics endpoints, operator notices."""
