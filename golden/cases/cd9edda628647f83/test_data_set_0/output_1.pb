
Boutput_1J-Å7TµÜ¶