
Boutput_0JÄº?ƒ2
»