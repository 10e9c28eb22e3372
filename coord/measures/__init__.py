"""柔性执法台账: the register of the five flexible measures (policy §四), their documents and attachments."""
