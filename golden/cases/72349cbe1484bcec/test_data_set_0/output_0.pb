
Boutput_0J#`fÄ