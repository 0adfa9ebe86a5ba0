
Boutput_0Jž¹