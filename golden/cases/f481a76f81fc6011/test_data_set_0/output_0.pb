
Boutput_0JCº