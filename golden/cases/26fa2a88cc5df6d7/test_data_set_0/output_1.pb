
Boutput_1J½¯ã²