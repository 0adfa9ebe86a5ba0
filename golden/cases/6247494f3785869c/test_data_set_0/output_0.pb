
Boutput_0JH¸x¶L»jº