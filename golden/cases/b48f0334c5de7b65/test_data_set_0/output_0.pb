
Boutput_0J A´àGí9h®R´’Gè4j¯´ˆG2.®´[Gò:ª­