
Boutput_1JŸ°g°û'Š¨